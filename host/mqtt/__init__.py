"""The host's only paho-mqtt adapter (see ``link``)."""
