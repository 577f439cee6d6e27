"""Data quality: expectation suites per message kind (data, in ``schemas/expectations``),
batch- and day-level checks per source, and the quality report administrators read."""
