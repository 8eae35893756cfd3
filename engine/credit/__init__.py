"""Breach records (违约失信记录), punishment measures, credit repair and the exchange with credit platforms."""
