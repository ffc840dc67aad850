"""Speed-ups for python3-saml 1.16.0, installed by create_app after a version check; same answers as stock.

Three patches (each measured in README "Performance"): XSD compiled once per thread, XPath compiled once
per thread, IdP certificates parsed into xmlsec keys once per process. A fourth replaces the process-wide
clock drift with one per validation, so threads validating at once never wait for each other.
"""
from __future__ import annotations

import contextvars
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata

import xmlsec
from lxml import etree
from onelogin.saml2 import utils as saml_utils
from onelogin.saml2 import xml_utils
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

# The python3-saml releases whose code these patches were written against (and read: see each patch).
SUPPORTED_VERSIONS = frozenset({"1.16.0"})
DEFAULT_CLOCK_DRIFT = 300  # python3-saml's own OneLogin_Saml2_Constants.ALLOWED_CLOCK_DRIFT

# What the patches replace, taken from the class dicts so uninstall() puts back the very same objects.
_STOCK = {
    "validate_xml": OneLogin_Saml2_XML.__dict__["validate_xml"],
    "query": OneLogin_Saml2_XML.__dict__["query"],
    "xmlsec": saml_utils.xmlsec,
    "drift": C.ALLOWED_CLOCK_DRIFT,
}
_stock_validate_xml = _STOCK["validate_xml"].__func__
_stock_query = _STOCK["query"].__func__

_install_lock = threading.Lock()
_installed = False
_warned = False


def _python3_saml_version() -> str | None:
    try:
        return metadata.version("python3-saml")
    except metadata.PackageNotFoundError:
        return None


def install() -> bool:
    """Patch python3-saml if it is a supported version (True); otherwise warn once and leave it stock (False)."""
    global _installed, _warned
    with _install_lock:
        if _installed:
            return True
        version = _python3_saml_version()
        if version not in SUPPORTED_VERSIONS:
            if not _warned:
                _warned = True
                warnings.warn(f"python3-saml {version or '(version unknown)'} is installed, but the portal's "
                              f"speed-ups were written for {', '.join(sorted(SUPPORTED_VERSIONS))}: they are not "
                              "installed and the stock (slower) python3-saml path is used.",
                              RuntimeWarning, stacklevel=2)
            return False
        OneLogin_Saml2_XML.validate_xml = staticmethod(_validate_xml)
        OneLogin_Saml2_XML.query = staticmethod(_query)
        saml_utils.xmlsec = _XmlsecForPythonSaml()
        C.ALLOWED_CLOCK_DRIFT = _DRIFT
        _installed = True
        return True


def uninstall() -> None:
    """Put python3-saml's own functions back (tests compare both paths)."""
    global _installed
    with _install_lock:
        OneLogin_Saml2_XML.validate_xml = _STOCK["validate_xml"]
        OneLogin_Saml2_XML.query = _STOCK["query"]
        saml_utils.xmlsec = _STOCK["xmlsec"]
        if C.ALLOWED_CLOCK_DRIFT is _DRIFT:
            C.ALLOWED_CLOCK_DRIFT = _STOCK["drift"]
        _installed = False


def is_installed() -> bool:
    """Whether the patches are in place in this process."""
    return _installed


def clear_caches() -> None:
    """Forget every compiled schema and XPath (this thread's) and every parsed certificate key."""
    _schemas.__dict__.clear()
    _xpaths.__dict__.clear()
    with _keys_lock:
        _keys.clear()
    _private_entries().clear()


# --- Clock drift per validation ------------------------------------------------------------------
# python3-saml 1.16.0 reads its allowed clock drift from a class attribute, in exactly two places
# (response.py, validate_timestamps): `now() + ALLOWED_CLOCK_DRIFT` and `parse(...) + ALLOWED_CLOCK_DRIFT`.
# With the patches installed that attribute is _DRIFT, which answers with the skew of the validation
# running in the current context (thread or task), so validations with different skews run side by side.
# On any other version nobody has read how the attribute is used (a timedelta(seconds=...) would raise
# on _DRIFT and every login would be refused), so clock_skew() falls back to setting it to a plain int
# under a lock: one validation at a time per process, but the skew is always honoured.

_skew: contextvars.ContextVar[int] = contextvars.ContextVar("saml_clock_skew", default=DEFAULT_CLOCK_DRIFT)
_stock_drift_lock = threading.Lock()


class _ClockDrift:
    """Stands in for OneLogin_Saml2_Constants.ALLOWED_CLOCK_DRIFT: the current validation's skew, in seconds."""
    __slots__ = ()

    def __int__(self) -> int:
        return _skew.get()

    __index__ = __int__

    def __add__(self, other):
        return _skew.get() + other

    __radd__ = __add__

    def __sub__(self, other):
        return _skew.get() - other

    def __rsub__(self, other):
        return other - _skew.get()

    def __eq__(self, other):
        return _skew.get() == other

    def __ne__(self, other):
        return _skew.get() != other

    def __lt__(self, other):
        return _skew.get() < other

    def __le__(self, other):
        return _skew.get() <= other

    def __gt__(self, other):
        return _skew.get() > other

    def __ge__(self, other):
        return _skew.get() >= other

    def __hash__(self) -> int:
        return hash(_skew.get())

    def __repr__(self) -> str:
        return f"<clock drift of this validation: {_skew.get()} s>"


_DRIFT = _ClockDrift()


@contextmanager
def clock_skew(seconds: int) -> Iterator[None]:
    """Inside the block python3-saml's timestamp checks in this context allow `seconds` of clock difference."""
    if C.ALLOWED_CLOCK_DRIFT is _DRIFT:
        token = _skew.set(int(seconds))
        try:
            yield
        finally:
            _skew.reset(token)
        return
    with _stock_drift_lock:  # stock path (see above): the class attribute is shared by every thread
        previous = C.ALLOWED_CLOCK_DRIFT
        C.ALLOWED_CLOCK_DRIFT = int(seconds)
        try:
            yield
        finally:
            C.ALLOWED_CLOCK_DRIFT = previous


# --- Compiled XSD, once per thread ----------------------------------------------------------------

_schemas = threading.local()  # lxml validators keep per-call error state: one per thread, never shared
_SCHEMA_DIR = os.path.join(os.path.dirname(xml_utils.__file__), "schemas")
_SCHEMA_FILES = frozenset(name for name in os.listdir(_SCHEMA_DIR) if name.endswith(".xsd"))


def _validate_xml(xml, schema, debug=False):
    """OneLogin_Saml2_XML.validate_xml, but compiling each XSD once per thread instead of on every call.

    python3-saml re-reads and recompiles the SAML protocol schema (and everything it imports) on every
    strict validation: about half the cost of validating a response. Same results: the validated
    element, or 'unloaded_xml' / 'invalid_xml'.
    """
    if debug or not isinstance(schema, str) or schema not in _SCHEMA_FILES:
        # Anything python3-saml itself does not ask for (debug printing, another type, a file that is not
        # one of its schemas): its own function decides, errors included.
        return _stock_validate_xml(xml, schema, debug)
    try:
        xml = OneLogin_Saml2_XML.to_etree(xml)
    except Exception:  # noqa: BLE001 - as python3-saml: anything unparsable is "unloaded"
        return "unloaded_xml"
    validator = _schemas.__dict__.get(schema)
    if validator is None:
        validator = OneLogin_Saml2_XML._schema_class(etree.parse(os.path.join(_SCHEMA_DIR, schema)))
        _schemas.__dict__[schema] = validator
    if not validator.validate(xml):
        return "invalid_xml"
    return xml


# --- Compiled XPath, once per thread --------------------------------------------------------------

XPATH_CACHE_SIZE = 256  # python3-saml's expressions are fixed strings (values go in $tagid): a few dozen
_xpaths = threading.local()  # compiled XPath objects are not shared between threads


def _query(dom, query, context=None, tagid=None):
    """OneLogin_Saml2_XML.query, but each XPath expression is compiled once per thread, not on every call.

    A login runs some fifty queries; lxml's element.xpath() compiles its expression every time.
    """
    if not isinstance(query, str):
        return _stock_query(dom, query, context, tagid)
    source = dom if context is None else context
    compiled = _xpaths.__dict__.get(query)
    if compiled is None:
        compiled = etree.XPath(query, namespaces=C.NSMAP)
        if len(_xpaths.__dict__) < XPATH_CACHE_SIZE:
            _xpaths.__dict__[query] = compiled
    if tagid is None:
        return compiled(source)
    return compiled(source, tagid=tagid)


# --- IdP certificates parsed into xmlsec keys once per process ------------------------------------

KEY_CACHE_SIZE = 256  # certificates; an account rotating keys has two or three
_keys: OrderedDict[tuple, xmlsec.Key] = OrderedDict()
_keys_lock = threading.Lock()


class _CachedKeys:
    """xmlsec.Key as python3-saml's signature check sees it: from_memory parses each certificate once.

    python3-saml turns the IdP's PEM certificate into an xmlsec key for every signature it checks (two per
    Okta response). A key is only ever read: assigning it to a signature context duplicates it (python-xmlsec
    SignatureContext.key), so one parsed key can serve every request and thread.
    """

    def from_memory(self, data, format, password=None):  # noqa: A002 - xmlsec's own argument name
        if format == xmlsec.KeyFormat.PEM and isinstance(data, (str, bytes)) and password is None:
            return _private_entry(data).key  # an SP private key: kept per thread, never shared
        if format != xmlsec.KeyFormat.CERT_PEM or not isinstance(data, (str, bytes)):
            return xmlsec.Key.from_memory(data, format, password)  # only public certificates are kept
        cache_key = (data, int(format), password)
        with _keys_lock:
            key = _keys.get(cache_key)
            if key is not None:
                _keys.move_to_end(cache_key)
                return key
        key = xmlsec.Key.from_memory(data, format, password)
        with _keys_lock:
            _keys[cache_key] = key
            while len(_keys) > KEY_CACHE_SIZE:
                _keys.popitem(last=False)
        return key

    def __getattr__(self, name):
        return getattr(xmlsec.Key, name)


# --- SP private keys: one keys manager per thread and key ----------------------------------------
# To decrypt an assertion python3-saml builds a new xmlsec KeysManager holding the SP key, every time. Building
# one loads OpenSSL's default certificate store: 15-30 ms here, several times the RSA-3072 decryption itself.
# Each thread keeps the parsed key and its manager for the last few SP keys it used; a manager is only read by
# decryption (xmlsec duplicates the key it finds into the context), and nothing is shared between threads.

PRIVATE_KEYS_PER_THREAD = 16
_private = threading.local()


@dataclass
class _PrivateEntry:
    key: xmlsec.Key
    manager: xmlsec.KeysManager | None = None


def _private_entries() -> OrderedDict:
    entries = getattr(_private, "entries", None)
    if entries is None:
        entries = _private.entries = OrderedDict()
    return entries


def _private_entry(data: str | bytes) -> _PrivateEntry:
    entries = _private_entries()
    entry = entries.get(data)
    if entry is None:
        entry = entries[data] = _PrivateEntry(xmlsec.Key.from_memory(data, xmlsec.KeyFormat.PEM, None))
        while len(entries) > PRIVATE_KEYS_PER_THREAD:
            entries.popitem(last=False)
    entries.move_to_end(data)
    return entry


class _ReusedKeysManager:
    """xmlsec.KeysManager as python3-saml's decryption uses it (one SP key added, then an EncryptionContext):
    the thread's manager for that key. Any other use gets a new manager of its own, as stock."""

    def __init__(self):
        self._added: list = []
        self._own = None

    def add_key(self, key) -> None:
        if self._own is not None:
            self._own.add_key(key)
        else:
            self._added.append(key)

    def resolve(self) -> xmlsec.KeysManager:
        if self._own is None and len(self._added) == 1:
            entry = next((e for e in _private_entries().values() if e.key is self._added[0]), None)
            if entry is not None:
                if entry.manager is None:
                    entry.manager = xmlsec.KeysManager()
                    entry.manager.add_key(entry.key)
                return entry.manager
        return self._own_manager()

    def _own_manager(self) -> xmlsec.KeysManager:
        if self._own is None:
            self._own = xmlsec.KeysManager()
            for key in self._added:
                self._own.add_key(key)
        return self._own

    def __getattr__(self, name):  # a use beyond decryption: a manager of this object's own, as stock
        return getattr(self._own_manager(), name)


def _context(cls):
    def build(manager=None):
        return cls(manager.resolve() if isinstance(manager, _ReusedKeysManager) else manager) if manager is not None \
            else cls()
    return build


class _XmlsecForPythonSaml:
    """The xmlsec module, but for Key.from_memory and KeysManager (above); installed only in python3-saml's
    utils module."""
    Key = _CachedKeys()
    KeysManager = _ReusedKeysManager
    EncryptionContext = staticmethod(_context(xmlsec.EncryptionContext))
    SignatureContext = staticmethod(_context(xmlsec.SignatureContext))

    def __getattr__(self, name):
        return getattr(xmlsec, name)
