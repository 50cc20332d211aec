"""Packaging for hotline: the 12333 IVR and call-routing controller for Asterisk."""

from setuptools import find_packages, setup

setup(
    name="hotline",
    version="0.1.0",
    description="IVR and call routing for a city's 12333 hotline, driving Asterisk",
    python_requires=">=3.11",
    packages=find_packages(include=["hotline*", "ivr*", "routing*", "recordings*"]),
    package_data={
        "hotline.sandbox": ["scenarios/*.xml", "scenarios/*.part"],
        "hotline.supervisor": ["static/*", "score_sheet.toml"],
        "hotline.store": ["migrations/script.py.mako"],
        # a site's config/ and dialplans/ (links to the top-level folders), for `hotline init`
        "hotline.site": ["config/**/*", "dialplans/**/*"],
    },
    install_requires=[
        "panoramisk>=1.4",
        "pyst2>=0.5.1",
        "pydub>=0.25.1",
        "sqlalchemy>=2.0",
        "apscheduler>=3.10,<4",
        "pyyaml>=6.0",
        "aiohttp>=3.9",
        "alembic>=1.13",
        "sdnotify>=0.3",
        "prometheus-client>=0.20",
        # Python 3.13 removed audioop; without it pydub falls back to a pure-Python copy
        'audioop-lts; python_version >= "3.13"',
    ],
    extras_require={
        # PostgreSQL, for several controllers on one database (psycopg 3 on the system libpq)
        "postgres": ["psycopg>=3.1"],
        "test": [
            "psycopg>=3.1",
            "pytest>=8",
            # scripts/test runs the tests that need no sandbox on both cores
            "pytest-xdist>=3.5",
            "hypothesis>=6.100",
            "ruff>=0.6",
            "mypy>=1.10",
            "import-linter>=2.1",
            "types-PyYAML",
            "playwright>=1.40",
            # mutation testing of the pure cores (scripts/mutation); 3.8.1 is the one checked here
            "mutmut==3.8.1",
        ],
    },
    entry_points={"console_scripts": ["hotline=hotline.cli.main:main"]},
)
