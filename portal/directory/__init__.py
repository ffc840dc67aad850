"""The directory: the only writers of users, teams, memberships and role grants.

SSO (provisioning, group_sync), the admin pages and the CLI all change people through these modules.
"""
