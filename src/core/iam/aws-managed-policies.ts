// The AWS managed policies Berth serves (arn:aws:iam::aws:policy/…): attachable to roles and users,
// listed with Scope=AWS, never changed or deleted through the API. Each document is AWS's, at the
// version named: as published in the AWS Managed Policy Reference Guide (docs.aws.amazon.com/
// aws-managed-policy/latest/reference/<Name>.html) and as IAM's GetPolicyVersion answers it
// (mirrored by the MAMIP project, github.com/zoph-io/MAMIP, for the documents too long for the
// guide's excerpts). A policy whose whole document could not be read is left out, not approximated.

export interface AwsManagedPolicy {
  readonly name: string;
  readonly path: string;
  readonly arn: string;
  /** IAM's unique id of the policy (ANPA…): Berth's own, stable, since AWS's are not published. */
  readonly policyId: string;
  readonly description: string;
  readonly defaultVersionId: string;
  /** ms since the epoch, from the reference guide's "Creation time" and "Edited time". */
  readonly createDate: number;
  readonly updateDate: number;
  readonly document: string;
}

const policy = (
  name: string,
  path: string,
  policyId: string,
  description: string,
  versionId: string,
  created: string,
  edited: string,
  document: object,
): AwsManagedPolicy => ({
  name,
  path,
  arn: `arn:aws:iam::aws:policy${path}${name}`,
  policyId,
  description,
  defaultVersionId: versionId,
  createDate: Date.parse(created),
  updateDate: Date.parse(edited),
  document: JSON.stringify(document, null, 2),
});

export const AWS_MANAGED_POLICIES: readonly AwsManagedPolicy[] = [
  policy(
    "AdministratorAccess",
    "/",
    "ANPABERTHAWSMANAGED01",
    "Provides full access to AWS services and resources.",
    "v1",
    "2015-02-06T18:39:46Z",
    "2015-02-06T18:39:46Z",
    {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
    },
  ),
  // wording not confirmed: the description.
  policy(
    "AmazonECSTaskExecutionRolePolicy",
    "/service-role/",
    "ANPABERTHAWSMANAGED02",
    "Provides access to other AWS service resources that are required to run Amazon ECS tasks",
    "v1",
    "2017-11-16T18:48:22Z",
    "2017-11-16T18:48:22Z",
    {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: [
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
          ],
          Resource: "*",
        },
      ],
    },
  ),
  // wording not confirmed: the description and the creation date (the document and v3's date are GetPolicyVersion's).
  policy(
    "CloudWatchLogsFullAccess",
    "/",
    "ANPABERTHAWSMANAGED04",
    "Provides full access to CloudWatch Logs",
    "v3",
    "2015-02-06T18:40:00Z",
    "2025-05-20T17:07:06Z",
    {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "CloudWatchLogsFullAccess",
          Effect: "Allow",
          Action: ["logs:*", "cloudwatch:GenerateQuery", "cloudwatch:GenerateQueryResultsSummary"],
          Resource: "*",
        },
      ],
    },
  ),
  policy(
    "SecretsManagerReadWrite",
    "/",
    "ANPABERTHAWSMANAGED05",
    "Provides read/write access to AWS Secrets Manager via the AWS Management Console. Note: this exludes IAM actions, so combine with IAMFullAccess if rotation configuration is required.",
    "v6",
    "2018-04-04T18:05:00Z",
    "2026-08-25T23:37:10Z",
    {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "BasePermissions",
          Effect: "Allow",
          Action: [
            "secretsmanager:*",
            "cloudformation:CreateChangeSet",
            "cloudformation:DescribeChangeSet",
            "cloudformation:DescribeStackResource",
            "cloudformation:DescribeStacks",
            "cloudformation:ExecuteChangeSet",
            "docdb-elastic:GetCluster",
            "docdb-elastic:ListClusters",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "kms:DescribeKey",
            "kms:ListAliases",
            "kms:ListKeys",
            "lambda:ListFunctions",
            "rds:DescribeDBClusters",
            "rds:DescribeDBInstances",
            "redshift:DescribeClusters",
            "redshift-serverless:ListWorkgroups",
            "redshift-serverless:GetNamespace",
            "tag:GetResources",
          ],
          Resource: "*",
        },
        {
          Sid: "LambdaPermissions",
          Effect: "Allow",
          Action: ["lambda:AddPermission", "lambda:CreateFunction", "lambda:GetFunction", "lambda:InvokeFunction", "lambda:UpdateFunctionConfiguration"],
          Resource: "arn:aws:lambda:*:*:function:SecretsManager*",
        },
        {
          Sid: "SARPermissions",
          Effect: "Allow",
          Action: ["serverlessrepo:CreateCloudFormationChangeSet", "serverlessrepo:GetApplication"],
          Resource: "arn:aws:serverlessrepo:*:*:applications/SecretsManager*",
        },
        {
          Sid: "S3Permissions",
          Effect: "Allow",
          Action: ["s3:GetObject"],
          Resource: ["arn:aws:s3:::awsserverlessrepo-changesets*", "arn:aws:s3:::secrets-manager-rotation-apps-*/*"],
        },
        {
          Sid: "CloudFormationTagOnCreate",
          Effect: "Allow",
          Action: ["cloudformation:TagResource", "cloudformation:UntagResource"],
          Resource: "*",
          Condition: { StringEquals: { "cloudformation:CreateAction": ["CreateChangeSet", "ExecuteChangeSet"] } },
        },
      ],
    },
  ),
  policy(
    "AmazonSSMReadOnlyAccess",
    "/",
    "ANPABERTHAWSMANAGED03",
    "Provides read only access to Amazon SSM.",
    "v1",
    "2015-05-29T17:44:00Z",
    "2015-05-29T17:44:00Z",
    {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["ssm:Describe*", "ssm:Get*", "ssm:List*"], Resource: "*" }],
    },
  ),
];

const BY_ARN = new Map(AWS_MANAGED_POLICIES.map((managed) => [managed.arn, managed]));

/** The AWS managed policy of an ARN (exactly as AWS spells it), or undefined. */
export function awsManagedPolicy(arn: string): AwsManagedPolicy | undefined {
  return BY_ARN.get(arn);
}
