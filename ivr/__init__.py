"""hotline's controller: the call-flow engine, the AGI front ends, the AMI session and the CLI."""
