#!/usr/bin/env bash
# Runs the migrate task with a given image and waits for its exit code (0 or the script fails).
#
#   deploy/aws/pipeline/migrate.sh imageDetail.json
#
# Needs CLUSTER, MIGRATE_TASK_DEFINITION_ARN, CONTAINER_NAME, SUBNETS (comma-separated) and
# SECURITY_GROUP in the environment; with PURGE_TASK_DEFINITION_ARN, a successful migration also
# registers the audit-purge revision with the same image (the daily schedule runs the family's
# latest revision) (the CodeBuild migrate project sets them; by hand, take them
# from `terraform output`). Migrations must be backward compatible (expand, then contract in a
# later release): the old tasks keep serving on the new schema until CodeDeploy shifts traffic.
set -euo pipefail

image_detail=${1:?usage: migrate.sh imageDetail.json}
image=$(jq -er .ImageURI "$image_detail")
here=$(dirname "$0")

echo "==> registering a migrate revision with $image"
taskdef=$(aws ecs describe-task-definition --task-definition "$MIGRATE_TASK_DEFINITION_ARN" \
  --query taskDefinition --output json |
  jq --arg name "$CONTAINER_NAME" --arg image "$image" -f "$here/taskdef.jq")
revision=$(aws ecs register-task-definition --cli-input-json "$taskdef" \
  --query taskDefinition.taskDefinitionArn --output text)

echo "==> running $revision"
run=$(aws ecs run-task --cluster "$CLUSTER" --task-definition "$revision" --count 1 \
  --launch-type FARGATE --platform-version LATEST --started-by codepipeline-migrate \
  --network-configuration "awsvpcConfiguration={subnets=[$SUBNETS],securityGroups=[$SECURITY_GROUP],assignPublicIp=DISABLED}" \
  --output json)
task=$(jq -r '.tasks[0].taskArn // empty' <<<"$run")
if [[ -z $task ]]; then
  echo "run-task started nothing: $(jq -c .failures <<<"$run")" >&2
  exit 1
fi
echo "    task $task"

# The waiter gives up after 10 minutes; a long migration gets up to 6 rounds (an hour).
for _ in 1 2 3 4 5 6; do
  if aws ecs wait tasks-stopped --cluster "$CLUSTER" --tasks "$task" 2>/dev/null; then break; fi
done

result=$(aws ecs describe-tasks --cluster "$CLUSTER" --tasks "$task" --output json)
status=$(jq -r '.tasks[0].lastStatus' <<<"$result")
code=$(jq -r --arg name "$CONTAINER_NAME" '.tasks[0].containers[] | select(.name == $name) | .exitCode // "none"' <<<"$result")
reason=$(jq -r '.tasks[0].stoppedReason // ""' <<<"$result")
echo "==> migrate task $status, exit code $code ${reason:+($reason)}"
echo "    logs: CloudWatch group /ecs/todo-api, stream migrate/$CONTAINER_NAME/${task##*/}"
if [[ $status == STOPPED && $code == 0 && -n ${PURGE_TASK_DEFINITION_ARN:-} ]]; then
  purge=$(aws ecs describe-task-definition --task-definition "$PURGE_TASK_DEFINITION_ARN" \
    --query taskDefinition --output json |
    jq --arg name "$CONTAINER_NAME" --arg image "$image" -f "$here/taskdef.jq")
  echo "==> audit-purge revision $(aws ecs register-task-definition --cli-input-json "$purge" \
    --query taskDefinition.taskDefinitionArn --output text)"
fi
[[ $status == STOPPED && $code == 0 ]]
