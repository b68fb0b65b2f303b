"""Fleet updates: versioned, signed firmware + model bundles, installed A/B with rollback.

The journey of one update, each step in its own module:

1. ``bundle``: a release engineer packs a directory (wheels, models) into a tar with a
   ``manifest.json`` that lists every file's SHA-256 and size, signed with Ed25519
   (``manifest``). The cart refuses a bundle whose signature or any checksum does not match,
   and any file the manifest does not list.
2. ``readiness``: the cart service reports whether a shopping session is open and whether the
   cart is docked; an update is applied only when the cart is idle *and* docked, else deferred.
3. ``slots``: two install directories (``slots/a``, ``slots/b``) and a ``current`` symlink the
   systemd unit starts from. The new version goes into the slot not running; switching is one
   atomic ``rename(2)`` of a fresh symlink over ``current``.
4. ``health``: after the switch the cart service is restarted and must come up (``READY=1``
   over ``sd_notify``, see ``notify``) and stay up; otherwise ``updater`` switches back.
   A ``pending.json`` written before the switch lets ``recover`` finish the job after a power
   cut in the middle.
"""
