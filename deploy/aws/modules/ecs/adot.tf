# Configuration of the ADOT collector sidecar (AOT_CONFIG_CONTENT). It listens on loopback only:
#  - OTLP gRPC on 127.0.0.1:4317 -> traces to X-Ray (sampling is decided by the app's parent-based
#    sampler and the X-Ray sampling rules of the observability module);
#  - scrapes the app's Prometheus endpoint on 127.0.0.1:9000 every 60 s -> CloudWatch embedded
#    metric format in /ecs/todo-api/metrics. Only the declared counters become CloudWatch metrics
#    (custom metrics bill per metric); everything else stays queryable there with Logs Insights.

locals {
  adot_config = yamlencode({
    extensions = {
      health_check = { endpoint = "127.0.0.1:13133" } # what the image's /healthcheck calls
    }
    receivers = {
      otlp = {
        protocols = { grpc = { endpoint = "127.0.0.1:4317" } }
      }
      prometheus = {
        config = {
          scrape_configs = [{
            job_name        = "todo-api"
            scrape_interval = "60s"
            static_configs  = [{ targets = ["127.0.0.1:9000"] }]
          }]
        }
      }
    }
    processors = {
      batch = { timeout = "5s" }
      resourcedetection = {
        detectors = ["env", "ecs"]
        timeout   = "2s"
        override  = false
      }
    }
    exporters = {
      awsxray = { region = var.aws_region }
      awsemf = {
        region                  = var.aws_region
        namespace               = "TodoApi"
        log_group_name          = aws_cloudwatch_log_group.metrics.name
        log_stream_name         = "{TaskId}"
        dimension_rollup_option = "NoDimensionRollup"
        metric_declarations = [{
          dimensions            = [["job"]]
          metric_name_selectors = ["^todo_.*_total"]
        }]
      }
    }
    service = {
      extensions = ["health_check"]
      pipelines = {
        traces = {
          receivers  = ["otlp"]
          processors = ["resourcedetection", "batch"]
          exporters  = ["awsxray"]
        }
        metrics = {
          receivers  = ["prometheus"]
          processors = ["resourcedetection", "batch"]
          exporters  = ["awsemf"]
        }
      }
    }
  })
}
