"""Just-in-time elevation: nobody holds standing access to customer data or the data plane.

An operator asks for a named elevation (contract.Elevation) for a reason and a duration; someone
else approves it; the grant takes effect and is removed at expiry by a Step Functions workflow
(Wait until the expiry, then remove), or earlier by a revoke. Every step is an object in the
region's Object Lock audit bucket and a notification on the security alerts topic.

Two mechanisms, one workflow:
- IAM Identity Center (the default): a temporary account assignment of the elevation's permission
  set to the requester, created at grant and deleted at expiry (sso-admin CreateAccountAssignment
  / DeleteAccountAssignment);
- the documented fallback for accounts without Identity Center (SAML federation): the elevation
  role's trust policy, closed by default (aws:CurrentTime before 1970), is rewritten to admit the
  requester's session only while DateGreaterThan/DateLessThan hold, and restored at expiry, with
  an aws:TokenIssueTime deny that ends sessions already issued.

Modules: `trust` (the trust documents, shared with the CDK constructs), `broker` (the logic, plain
boto3), `handler` (the Lambda entry: function URL requests and workflow steps), `__main__` (the CLI).
"""
