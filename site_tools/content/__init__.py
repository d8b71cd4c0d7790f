"""The town's configuration and its bulletins: reading, checking, and the model every other layer takes."""
