"""A local AWS for deploy and drills, with no AWS account: a pinned, patched moto server on
127.0.0.1, a CloudFormation deploy of every synthesized stack, a verification that every logical
resource really exists and that key properties read back, and the DR drills against it."""
