"""Local fakes of remote services for tests (real HTTP on 127.0.0.1, never mocks of our own code)."""
