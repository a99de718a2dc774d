# Loaded automatically by Python in test subprocesses (PYTHONPATH): see tests/netguard.py.
import netguard

netguard.install()
