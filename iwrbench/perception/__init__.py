"""The replay's view of the page: the interactive elements browser-use indexes, with their text and places."""
