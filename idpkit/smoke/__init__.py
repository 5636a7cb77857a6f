"""The smoke suite's machinery: check catalog, pytest plugin, redaction and the runner behind `idpkit smoke`."""
