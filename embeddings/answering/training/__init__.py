"""Training the answer step's models (``make train``); see ``__main__``."""
