// The AWS managed policies Berth serves (arn:aws:iam::aws:policy/…): attachable to roles and users,
// listed with Scope=AWS, never changed or deleted through the API. Each document is AWS's as
// published in the AWS Managed Policy Reference Guide (docs.aws.amazon.com/aws-managed-policy/
// latest/reference/<Name>.html), at the version named; a policy whose whole document could not be
// read there is left out rather than approximated.

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
  // wording not confirmed: the description and dates (the document is the ECS Developer Guide's).
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
