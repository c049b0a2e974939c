"""The data: tasks in the published IWR-Bench format, loaded with errors that name file, line and field."""
