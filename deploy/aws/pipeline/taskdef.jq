# Turns `aws ecs describe-task-definition --query taskDefinition` output (a revision Terraform
# registered) into a task definition that can be registered again, and swaps the image of the
# container named $name: to $ARGS.named.image when given, else to CodeDeploy's <IMAGE1_NAME>
# placeholder (filled from imageDetail.json). Used by buildspec.yml (taskdef.json) and
# migrate.sh. Terraform stays the one source of the task's environment, secrets, roles and size.
del(
  .taskDefinitionArn, .revision, .status, .requiresAttributes, .compatibilities,
  .registeredAt, .registeredBy, .deregisteredAt
)
| .containerDefinitions |= map(
    if .name == $name then .image = ($ARGS.named.image // "<IMAGE1_NAME>") else . end
  )
