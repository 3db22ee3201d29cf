"""The emulator's HTTP routes, one module per group, as each group has its own rules.

- `control`: the emulator's own (`/health`, `/_emulator/behaviour`), not WorkOS';
- `browser`: the pages a browser opens (login, logout): no API key, never slowed or failed by
  `Behaviour`; the login page's errors in OAuth's shape;
- `authenticate`: `POST /user_management/authenticate`, the token endpoint: credentials in the JSON
  body, as OAuth has them, and OAuth's error shape;
- `jwks`: the key set the SDK checks tokens with: no credentials at all (PyJWT fetches it), failed on
  its own by `jwks_fail_status`;
- `api`: the rest of the API: `Authorization: Bearer <api key>`, WorkOS' `{"message", "code"}` errors.

Each module has a `router`; `WorkOSEmulator.app()` includes them all. `pagination` is no group: it
holds WorkOS' list parameters and envelope, which `api`'s list calls share.
"""
