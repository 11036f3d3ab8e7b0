# syntax=docker/dockerfile:1
#
# Elasticsearch with the newswire-analysis plugin (deploy/analysis-plugin), which provides the
# `newswire_english` analyzer and the `newswire_*` token filters that the articles index template
# uses. Without the plugin, `newswire index init` fails: the template names an unknown analyzer.
#
# Build context is the repository root (see docker-compose.yml):
#   docker build -f deploy/docker/elasticsearch.Dockerfile -t newswire-elasticsearch:local .
#
# The Elasticsearch version here must equal <elasticsearch.version> in deploy/analysis-plugin/pom.xml
# (tests/unit/test_compose.py checks it).

FROM maven:3.9-eclipse-temurin-17 AS analysis-plugin
WORKDIR /build
COPY deploy/analysis-plugin/ ./
# The cache mount keeps downloaded Maven artifacts between builds without putting them in a layer.
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q package -DskipTests \
    && cp target/newswire-analysis-*.zip /build/newswire-analysis.zip

FROM docker.elastic.co/elasticsearch/elasticsearch:8.19.21
# A bind mount instead of COPY: the zip is only needed while installing, so no layer keeps it.
RUN --mount=type=bind,from=analysis-plugin,source=/build/newswire-analysis.zip,target=/tmp/newswire-analysis.zip \
    bin/elasticsearch-plugin install --batch file:///tmp/newswire-analysis.zip
