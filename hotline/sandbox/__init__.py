"""The sandbox Asterisk 22: a cached Debian-sid root filesystem, configuration generated from
hotline's own, and a process started on loopback. Used by the demo, the tests and admins."""
