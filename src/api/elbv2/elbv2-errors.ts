// ELBv2's errors (Elastic Load Balancing API Reference, each action's Errors; the codes and HTTP
// statuses are the SDK model's awsQueryError traits, all 400). Texts seen verbatim in AWS answers
// quoted in public issue threads are unmarked; the others say "wording not confirmed".
import { AwsError } from "../../core/errors.js";

const error = (code: string) => (message: string) => new AwsError(code, message, { httpStatus: 400 });

export const validationError = error("ValidationError");
export const invalidConfigurationRequest = error("InvalidConfigurationRequest");
export const operationNotPermitted = error("OperationNotPermitted");

export const loadBalancerNotFound = () => error("LoadBalancerNotFound")("One or more load balancers not found");
export const loadBalancersNotFound = (names: readonly string[]) => error("LoadBalancerNotFound")(`Load balancers '[${names.join(", ")}]' not found`);
export const targetGroupNotFound = () => error("TargetGroupNotFound")("One or more target groups not found");
export const listenerNotFound = () => error("ListenerNotFound")("One or more listeners not found");
export const ruleNotFound = () => error("RuleNotFound")("One or more rules not found");

export const duplicateLoadBalancerName = (name: string) =>
  error("DuplicateLoadBalancerName")(`A load balancer with the same name '${name}' exists, but with different settings`);
export const duplicateTargetGroupName = (name: string) =>
  error("DuplicateTargetGroupName")(`A target group with the same name '${name}' exists, but with different settings`);
export const duplicateListener = (loadBalancerArn: string) =>
  error("DuplicateListener")(`A listener already exists on this port for this load balancer '${loadBalancerArn}'`);
export const priorityInUse = (priority: number) => error("PriorityInUse")(`Priority '${priority}' is currently in use`);
export const targetGroupInUse = (arn: string) => error("ResourceInUse")(`Target group '${arn}' is currently in use by a listener or a rule`);

export const deletionProtected = (arn: string) => operationNotPermitted(`Load balancer '${arn}' cannot be deleted because deletion protection is enabled`);
// wording not confirmed (one AWS answer quoted in public shows the message "InvalidSubnetID.NotFound")
export const subnetNotFound = (subnetId: string) => error("SubnetNotFound")(`The subnet ID '${subnetId}' is not valid`);
// AWS answers this one as ValidationError (quoted with its Error Code in public CloudFormation logs).
export const twoZonesRequired = () => validationError("At least two subnets in two different Availability Zones must be specified");
// wording not confirmed
export const securityGroupInvalid = (groupId: string) => error("InvalidSecurityGroup")(`Security group '${groupId}' does not exist in the load balancer's VPC`);
// wording not confirmed
export const tooManyTags = () =>
  error("TooManyTags")("The quota for the number of tags that can be assigned to a load balancer resource has been reached (50)");
// wording not confirmed
export const duplicateTagKeys = (key: string) => error("DuplicateTagKeys")(`Tag key '${key}' is specified more than once`);
// wording not confirmed
export const sslPolicyNotFound = (name: string) => error("SSLPolicyNotFound")(`SSL policy '${name}' not found`);
export const certificateNotFound = (arn: string) => error("CertificateNotFound")(`Certificate '${arn}' not found`);
// wording not confirmed
export const targetGroupAssociationLimit = (arn: string) =>
  error("TargetGroupAssociationLimit")(`The following target groups cannot be associated with more than one load balancer: ${arn}`);
export const invalidTarget = error("InvalidTarget");
// wording not confirmed
export const tooManyTargets = () => error("TooManyTargets")("You have reached the maximum number of targets per target group (1000)");
// wording not confirmed
export const tooManyLoadBalancers = () => error("TooManyLoadBalancers")("The quota for the number of load balancers has been reached."); // wording not confirmed
export const tooManyListeners = () => error("TooManyListeners")("You have reached the maximum number of listeners per load balancer (50)");
// wording not confirmed
export const tooManyRules = () => error("TooManyRules")("You have reached the maximum number of rules per listener (100)");
// wording not confirmed
export const tooManyRulesPerLoadBalancer = (max: number) => error("TooManyRules")(`You have reached the maximum number of rules per load balancer (${max})`);
