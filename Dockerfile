# syntax=docker/dockerfile:1
#
# One image for the whole pipeline: the ingest, enrich and index services and the `newswire` CLI.
# docker-compose.yml picks what a container runs with `command:` (python -m services.<name>).
#
#   docker build -t newswire:local .
#   docker run --rm newswire:local python -m services.ingest

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/newswire

# Dependencies first, read from pyproject.toml, so that editing the code does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && pip install -r requirements.txt

COPY README.md ./
COPY schemas ./schemas
COPY services ./services
RUN pip install --no-deps . \
    && rm -rf build ./*.egg-info

# The services never need root. The faust worker (enrich) keeps its state in a data directory
# relative to the working directory, so that directory must be writable by this user.
RUN useradd --create-home --uid 10001 --user-group newswire
USER newswire
WORKDIR /home/newswire

CMD ["newswire", "--help"]
