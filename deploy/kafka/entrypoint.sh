#!/bin/bash
# Starts the single-node KRaft broker of deploy/kafka/Dockerfile: writes
# server.properties from the environment, formats the storage on the first start (the
# cluster id is kept in the volume), then execs the broker (tini forwards SIGTERM, and
# Kafka shuts down in a controlled way).
set -euo pipefail
data=/var/lib/kafka
port=${KAFKA_PORT:-9092}
host=${KAFKA_ADVERTISED_HOST:-$(hostname)}
# G1 as Kafka's own kafka-run-class.sh sets it (20 ms pause goal, not G1's 200 ms): a
# young collection stalls every produce and fetch, i.e. delivery latency.
java=(java "-Xms${KAFKA_HEAP:-512m}" "-Xmx${KAFKA_HEAP:-512m}" -XX:+UseG1GC
    -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent
    -Dlog4j.configuration=file:/opt/kafka/log4j.properties -cp '/opt/kafka/libs/*')

cat >"$data/server.properties" <<PROPS
# Written by kafka-entrypoint at each start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://0.0.0.0:$port,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://$host:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data/data
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=16777216
PROPS

if [[ ! -f $data/data/meta.properties ]]; then
    # A cluster id is 16 random bytes in URL-safe base64; never one starting with '-',
    # which the format tool would take for an option.
    if [[ ! -s $data/cluster-id ]]; then
        id=-
        while [[ $id == -* ]]; do
            id=$(head -c 16 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
        done
        echo "$id" >"$data/cluster-id"
    fi
    "${java[@]}" kafka.tools.StorageTool format -t "$(<"$data/cluster-id")" \
        -c "$data/server.properties" --ignore-formatted
fi
exec "${java[@]}" kafka.Kafka "$data/server.properties"
