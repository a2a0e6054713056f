"""Onboarding and the password lifecycle: the first admin (`flask create-admin`), clinics added
by agency admins, invitations by email, changing and resetting a password, two-step sign-in.

Links sent by email are signed (itsdangerous) and carry something that changes when they are
used, so each works once: an invitation's nonce, or a digest of the person's password hash."""
