# ruff: noqa: E402
"""The OpenMetadata docs' programmatic example for OpenLineage services, verbatim except for
the server address and token (run with .venv-om's Python; argv: brokers topic stream endpoint)."""

import json
import os
import sys

from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
    OpenMetadataConnection,
)
from metadata.generated.schema.security.client.openMetadataJWTClientConfig import (
    OpenMetadataJWTClientConfig,
)
from metadata.ingestion.ometa.ometa_api import OpenMetadata

server_config = OpenMetadataConnection(
    hostPort=os.environ["HW_OM_URL"],
    authProvider="openmetadata",
    securityConfig=OpenMetadataJWTClientConfig(jwtToken=os.environ["HW_OM_TOKEN"]),
)
metadata = OpenMetadata(server_config)
assert metadata.health_check()  # Will fail if we cannot reach the server

brokers, topic, stream, endpoint = sys.argv[1:5]

from metadata.generated.schema.api.services.createPipelineService import CreatePipelineServiceRequest
from metadata.generated.schema.entity.services.connections.pipeline.openLineageConnection import (
    ConsumerOffsets,
    KafkaBrokerConfig,
    OpenLineageConnection,
)
from metadata.generated.schema.entity.services.connections.pipeline.openLineageConnection import (
    SecurityProtocol as KafkaSecurityProtocol,
)
from metadata.generated.schema.entity.services.pipelineService import (
    PipelineConnection,
    PipelineServiceType,
)
from metadata.generated.schema.security.ssl.validateSSLClientConfig import (
    ValidateSslClientConfig,
)

openlineage_service_request = CreatePipelineServiceRequest(
    name="openlineage-kafka-service",
    displayName="OpenLineage Kafka Service",
    serviceType=PipelineServiceType.OpenLineage,
    connection=PipelineConnection(
        config=OpenLineageConnection(
            brokerConfig=KafkaBrokerConfig(
                brokersUrl=brokers,
                topicName=topic,
                consumerGroupName="openmetadata-consumer",
                consumerOffsets=ConsumerOffsets.earliest,
                poolTimeout=0.3,
                sessionTimeout=2,
                securityProtocol=KafkaSecurityProtocol.PLAINTEXT,
                # SSL config is optional and only used when securityProtocol=SSL
                sslConfig=ValidateSslClientConfig(
                    sslCertificate="/path/to/kafka/certs/Certificate.pem",
                    sslKey="/path/to/kafka/certs/Key.pem",
                    caCertificate="/path/to/kafka/certs/RootCA.pem",
                ),
            )
        )
    ),
)
kafka = metadata.create_or_update(openlineage_service_request)

from metadata.generated.schema.entity.services.connections.pipeline.openLineageConnection import (
    KinesisBrokerConfig,
)

try:
    from metadata.generated.schema.entity.services.connections.pipeline.openLineageConnection import (
        KinesisConsumerOffsets,
    )
except ImportError:  # the docs' name; SDK 1.12.14 generates this enum as ConsumerOffsets1
    from metadata.generated.schema.entity.services.connections.pipeline.openLineageConnection import (
        ConsumerOffsets1 as KinesisConsumerOffsets,
    )
from metadata.generated.schema.security.credentials.awsCredentials import AWSCredentials

openlineage_service_request = CreatePipelineServiceRequest(
    name="openlineage-kinesis-service",
    displayName="OpenLineage Kinesis Service",
    serviceType=PipelineServiceType.OpenLineage,
    connection=PipelineConnection(
        config=OpenLineageConnection(
            brokerConfig=KinesisBrokerConfig(
                streamName=stream,
                consumerOffsets=KinesisConsumerOffsets.TRIM_HORIZON,  # or LATEST
                poolTimeout=0.2,
                sessionTimeout=2,
                awsConfig=AWSCredentials(
                    awsRegion="us-east-2",
                    awsAccessKeyId="testing",  # Optional if using IAM roles
                    awsSecretAccessKey="testing-secret",  # Optional if using IAM roles
                    awsSessionToken="session-token-secret",  # Optional, for temporary credentials
                    endPointURL=endpoint,
                ),
            )
        )
    ),
)
kinesis = metadata.create_or_update(openlineage_service_request)
print(
    json.dumps({"kafka": str(kafka.fullyQualifiedName.root), "kinesis": str(kinesis.fullyQualifiedName.root)})
)
