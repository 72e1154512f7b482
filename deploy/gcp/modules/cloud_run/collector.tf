# Configuration of the OpenTelemetry Collector sidecar, passed in an environment variable
# (the collector's env: config provider), so it needs no secret or volume.
locals {
  otel_collector_config = {
    receivers = {
      otlp = {
        protocols = {
          grpc = { endpoint = "localhost:4317" }
        }
      }
      prometheus = {
        config = {
          scrape_configs = [{
            job_name        = "todo-api"
            scrape_interval = "30s"
            static_configs  = [{ targets = ["localhost:${local.metrics_port}"] }]
          }]
        }
      }
    }
    processors = {
      memory_limiter = {
        check_interval         = "1s"
        limit_percentage       = 65
        spike_limit_percentage = 20
      }
      # Labels every span and series with the Cloud Run service, revision and instance.
      resourcedetection = {
        detectors = ["env", "gcp"]
        timeout   = "10s"
      }
      batch = {
        send_batch_size     = 200
        send_batch_max_size = 200
        timeout             = "5s"
      }
    }
    exporters = {
      googlecloud             = {}
      googlemanagedprometheus = {}
    }
    # Cloud Run's startup probe of the sidecar; the app container starts after it passes.
    extensions = {
      health_check = { endpoint = "0.0.0.0:13133" }
    }
    service = {
      extensions = ["health_check"]
      pipelines = {
        traces = {
          receivers  = ["otlp"]
          processors = ["memory_limiter", "resourcedetection", "batch"]
          exporters  = ["googlecloud"]
        }
        metrics = {
          receivers  = ["prometheus"]
          processors = ["memory_limiter", "resourcedetection", "batch"]
          exporters  = ["googlemanagedprometheus"]
        }
      }
    }
  }
}
