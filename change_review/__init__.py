"""Change review: what a change would do to every deployed stack, before it is deployed.

- `assembly` reads a synthesized cloud assembly (cdk.out) or the templates deployed in an account;
- `diff` compares two of them resource by resource and property by property, and says which
  changes replace a resource (CloudFormation's create-only properties, from the resource schemas
  cfn-lint ships) or delete it;
- `security` classifies the changes an auditor reviews first (IAM, key and bucket policies,
  security groups, listeners, removal policies, encryption) and which of them widen access;
- `stateful` fails a change that would replace or delete a data-holding resource, or weaken its
  removal policy, unless a typed override in the commit names that resource;
- `render` writes the pull-request comment and the deploy plan (Markdown) and a JSON record.

Plain Python: no CDK import, no AWS call (except `assembly.deployed_templates`, which reads
templates with the caller's credentials in the deploy pipeline).
"""
