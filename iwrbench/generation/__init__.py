"""Generation: a task's inputs, one model call, the reply turned into a page that opens on its own, and generation.json (also: pages imported from another tool)."""
