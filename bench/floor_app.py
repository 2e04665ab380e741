"""The floor: the smallest CDK app with the same toolchain (one stack, one bucket, no nag)."""

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_s3 as s3

app = App()
s3.Bucket(Stack(app, "Floor", env=Environment(account="123456789012", region="eu-west-1")), "Bucket")
app.synth()
