"""The browser a page runs in: Chromium found and launched, shared by workers, one sandboxed context per task (untrusted pages never reach the network or the disk)."""
