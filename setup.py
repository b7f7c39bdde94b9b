"""Packaging glue: ship the top-level templates/ and runtime_c/ inside the wheel.

They live at the top of the repository (the product layout) and are installed as the
package data folders ``dlgen/templates`` and ``dlgen/runtime_c``; ``dlgen.resources``
finds them in either place.
"""
from setuptools import find_packages, setup

DATA = {"dlgen.templates": "templates", "dlgen.runtime_c": "runtime_c"}

setup(
    packages=find_packages(include=["dlgen", "dlgen.*"]) + list(DATA),
    package_dir=DATA,
    package_data={name: ["**/*"] for name in DATA},
)
