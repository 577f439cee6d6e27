"""The database: engines and migrations, and the SQLAlchemy tables of the libraries and the hub's bookkeeping."""
