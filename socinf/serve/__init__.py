"""`socinf serve`: a small prediction API standing in for an ML-as-a-service platform."""
