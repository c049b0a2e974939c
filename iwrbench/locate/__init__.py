"""Finding the element an action's description names: the offline locator, or a model."""
