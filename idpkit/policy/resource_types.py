"""Pulumi type tokens the rules check (pulumi-aws 7.x).

Where pulumi-aws keeps a deprecated alias (`aws:alb/...`, the `...V2` S3 resources), both tokens are
listed: a program written against either must not slip past a rule.
"""

KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
KMS_REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"
KMS_EXTERNAL_KEY = "aws:kms/externalKey:ExternalKey"
KMS_REPLICA_EXTERNAL_KEY = "aws:kms/replicaExternalKey:ReplicaExternalKey"

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"

EC2_INSTANCE = "aws:ec2/instance:Instance"
EC2_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EBS_VOLUME = "aws:ebs/volume:Volume"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SECURITY_GROUP_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECRETS_MANAGER_ENTRY = "aws:secretsmanager/secret:Secret"
TRAIL = "aws:cloudtrail/trail:Trail"

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BUCKET_OBJECT_LOCK = (
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
)
BUCKET_PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
BUCKET_POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
BUCKET_OBJECTS = ("aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject")

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
NETWORK_ACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
NETWORK_ACL_ASSOCIATION = "aws:ec2/networkAclAssociation:NetworkAclAssociation"

IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SSM_DOCUMENT = "aws:ssm/document:Document"
SCHEDULE = "aws:scheduler/schedule:Schedule"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"  # noqa: S105  # a type token

TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SNS_TOPIC = "aws:sns/topic:Topic"
BUCKET_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
