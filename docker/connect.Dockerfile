# Kafka Connect with Debezium's MySQL connector, for docker/compose.yml's cdc profile: built
# the way `npm run stack:up -- --cdc` builds it (scripts/cdc.sh), not Debezium's own image, so
# that the jars are those of scripts/cdc/pom.xml: connect-runtime and connect-json 4.3.0
# (Debezium 3.6.1 is built on Kafka 4.3; its task dies on a 4.4 worker) and the connector
# without its own Kafka, SLF4J and Jackson jars. The worker's settings and command line are
# the script's too (cdc_connect_config, cdc_connect_args); only the CDC_* settings differ.
FROM maven:3.9-eclipse-temurin-17 AS jars
WORKDIR /cdc
ENV STACK_DIR=/opt/cdc
COPY scripts/cdc.sh scripts/processes.sh scripts/
COPY scripts/cdc/pom.xml scripts/cdc/pom.xml
RUN bash -c '. scripts/cdc.sh && cdc_jars'

FROM eclipse-temurin:17-jre
# curl and jq: scripts/cdc.sh's registration (the compose file's cdc-register runs this image).
RUN apt-get update && apt-get install -y --no-install-recommends curl jq && \
  rm -rf /var/lib/apt/lists/*
WORKDIR /cdc
ENV STACK_DIR=/opt/cdc
COPY --from=jars /opt/cdc/cdc/connect/libs /opt/cdc/cdc/connect/libs
COPY --from=jars /opt/cdc/cdc/connect/plugins /opt/cdc/cdc/connect/plugins
COPY scripts/cdc.sh scripts/processes.sh scripts/
COPY scripts/cdc/ scripts/cdc/
# The worker writes its properties under /opt/cdc/cdc/connect at start; its state is on the
# broker (three topics), so the container keeps nothing.
RUN chown -R 1000:1000 /opt/cdc/cdc/connect
USER 1000:1000
EXPOSE 8083
CMD ["bash", "-c", ". scripts/cdc.sh && cdc_connect_config && exec \"$CDC_JAVA\" \"${cdc_connect_args[@]}\""]
