"""What the tests share: the chat driver, the people and cases they set up, images, generated
data. A test module imports its helpers from here, never from another test module or conftest
(tests/test_layout.py checks it); the benchmarks use some of them too.
"""
