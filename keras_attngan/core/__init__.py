"""The method's maths, with no Keras model of its own: losses, penalties, MI estimators, masks, the latent spec."""
