# The emulator's fixtures (dokploy_emulator) for every test directory.
pytest_plugins = ["dokploy_pulumi.testing.pytest_plugin"]
