"""Writes each app's Deployment + Service and the kustomization from the app manifests.

``python -m services.k8s.render`` after adding an app or changing a manifest's
resources; ``tests/services/test_manifests.py`` fails while the files on disk
differ from what this renders.
"""

from __future__ import annotations

from pathlib import Path

from lepton_shared.manifest import AppManifest, discover

HERE = Path(__file__).resolve().parent
SHARED = ("namespace.yaml", "storage.yaml", "postgres.yaml", "migrate-job.yaml", "network-policy.yaml")

TEMPLATE = """\
# The {name} service ({title}): two replicas behind one ClusterIP Service. Rendered from
# apps/{name}/manifest.py by `python -m services.k8s.render`; edit the manifest, not this file.
# Replicas share the PostgreSQL database (LEPTON_DATABASE_URL) and the model store (the lepton-home volume),
# so they load the same production model and every write lands in one place.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: lepton-{name}
  labels: {{app.kubernetes.io/name: lepton-{name}, app.kubernetes.io/part-of: lepton-suite}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app.kubernetes.io/name: lepton-{name}}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: lepton-{name}, app.kubernetes.io/part-of: lepton-suite,
               app.kubernetes.io/component: service}}
      annotations:  # for a Prometheus that discovers pods by annotation; /metrics takes LEPTON_METRICS_TOKEN
        prometheus.io/scrape: "true"
        prometheus.io/port: "8000"
        prometheus.io/path: /metrics
    spec:
{pod_security}      containers:
        - name: {name}
          image: lepton-{name}:0.1.0  # services/Dockerfile --target service --build-arg APP={name}
          # lepton serve: JSON logs (uvicorn's too) and the binding rules (a token is required on 0.0.0.0)
          command: ["lepton", "{name}", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "1"]
          ports:
            - {{name: http, containerPort: 8000}}
          env:
            - {{name: LEPTON_APP, value: {name}}}
            - {{name: LEPTON_HOME, value: /var/lepton}}
            - name: LEPTON_DATABASE_URL
              valueFrom: {{secretKeyRef: {{name: lepton-secrets, key: database-url}}}}
            - name: LEPTON_API_TOKEN
              valueFrom: {{secretKeyRef: {{name: lepton-secrets, key: api-token}}}}
            - name: LEPTON_METRICS_TOKEN
              valueFrom: {{secretKeyRef: {{name: lepton-secrets, key: metrics-token}}}}
            - name: LEPTON_ID_SALT
              valueFrom: {{secretKeyRef: {{name: lepton-secrets, key: id-salt}}}}
            - {{name: LEPTON_ENV, value: production}}
            - {{name: HOME, value: /tmp}}  # the root filesystem is read-only: caches go to the /tmp volume
          resources:
            requests: {{cpu: "{cpu_request}", memory: {memory_request}}}
            limits: {{cpu: "{cpu_limit}", memory: {memory_limit}}}
          startupProbe:  # loading a model can take a while on a cold node
            httpGet: {{path: /healthz, port: http}}
            periodSeconds: 5
            failureThreshold: 60
          readinessProbe:  # a model is loaded and the database answers
            httpGet: {{path: /readyz, port: http}}
            periodSeconds: 10
            failureThreshold: 3
          livenessProbe:  # the process answers at all
            httpGet: {{path: /healthz, port: http}}
            periodSeconds: 20
            failureThreshold: 3
{locked_down}---
apiVersion: v1
kind: Service
metadata:
  name: lepton-{name}
  labels: {{app.kubernetes.io/name: lepton-{name}, app.kubernetes.io/part-of: lepton-suite}}
spec:
  selector: {{app.kubernetes.io/name: lepton-{name}}}
  ports:
    - {{name: http, port: 80, targetPort: http}}
---
# At least one replica stays up through node drains and cluster upgrades.
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: lepton-{name}
  labels: {{app.kubernetes.io/name: lepton-{name}, app.kubernetes.io/part-of: lepton-suite}}
spec:
  minAvailable: 1
  selector:
    matchLabels: {{app.kubernetes.io/name: lepton-{name}}}
---
# Two to six replicas on CPU load (needs the metrics-server); memory per replica is fixed by the limits above.
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: lepton-{name}
  labels: {{app.kubernetes.io/name: lepton-{name}, app.kubernetes.io/part-of: lepton-suite}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: lepton-{name}}}
  minReplicas: 2
  maxReplicas: 6
  metrics:
    - type: Resource
      resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 70}}}}
"""

UI = """\
# The Streamlit suite (home page + one page per app), the only part meant for people: behind an Ingress. It calls
# each service in the cluster with the API token. Streamlit has no login: put the Ingress behind your SSO
# (e.g. oauth2-proxy annotations) before exposing it. Rendered by `python -m services.k8s.render`.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: lepton-ui
  labels: {{app.kubernetes.io/name: lepton-ui, app.kubernetes.io/part-of: lepton-suite}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app.kubernetes.io/name: lepton-ui}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: lepton-ui, app.kubernetes.io/part-of: lepton-suite,
               app.kubernetes.io/component: ui}}
    spec:
{pod_security}      containers:
        - name: ui
          image: lepton-suite:0.1.0  # services/Dockerfile, --target suite: every app's page
          command: ["python", "-m", "streamlit", "run", "services/ui/suite.py", "--server.headless", "true",
                    "--server.address", "0.0.0.0", "--server.port", "8501", "--browser.gatherUsageStats", "false"]
          ports:
            - {{name: http, containerPort: 8501}}
          env:
            - {{name: LEPTON_HOME, value: /var/lepton}}
            - {{name: HOME, value: /tmp}}
            - name: LEPTON_DATABASE_URL
              valueFrom: {{secretKeyRef: {{name: lepton-secrets, key: database-url}}}}
            - name: LEPTON_API_TOKEN
              valueFrom: {{secretKeyRef: {{name: lepton-secrets, key: api-token}}}}
{urls}
          resources:
            requests: {{cpu: "100m", memory: 512Mi}}
            limits: {{cpu: "1", memory: 1Gi}}
          readinessProbe:
            httpGet: {{path: /_stcore/health, port: http}}
            periodSeconds: 10
          livenessProbe:
            httpGet: {{path: /_stcore/health, port: http}}
            periodSeconds: 20
{locked_down}---
apiVersion: v1
kind: Service
metadata:
  name: lepton-ui
  labels: {{app.kubernetes.io/name: lepton-ui, app.kubernetes.io/part-of: lepton-suite}}
spec:
  selector: {{app.kubernetes.io/name: lepton-ui}}
  ports:
    - {{name: http, port: 80, targetPort: http}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: lepton-ui
  labels: {{app.kubernetes.io/name: lepton-ui, app.kubernetes.io/part-of: lepton-suite}}
spec:
  rules:
    - host: lepton.example.com  # your host name; add a tls: section with its certificate Secret
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service: {{name: lepton-ui, port: {{name: http}}}}
"""

KUSTOMIZATION = """\
# kubectl apply -k services/k8s   (after creating the lepton-secrets Secret from secret.example.yaml)
# Rendered by `python -m services.k8s.render` from the app manifests.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: lepton
resources:
{resources}
images:  # point each newName at your registry, e.g. registry.example.com/lepton-fraud
{images}
"""

IMAGE = """\
  - name: {image}
    newName: {image}
    newTag: 0.1.0"""


#: the pod's user (the image's non-root uid)
POD_SECURITY = "      securityContext: {runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001}\n"

#: the container's hardening and the volumes it writes to: a read-only image, no privileges, the shared model
#: store and a scratch /tmp (every workload runs the same way)
LOCKED_DOWN = """\
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          volumeMounts:
            - {name: lepton-home, mountPath: /var/lepton}
            - {name: tmp, mountPath: /tmp}
      volumes:
        - name: lepton-home
          persistentVolumeClaim: {claimName: lepton-home}
        - name: tmp
          emptyDir: {sizeLimit: 1Gi}
"""


def workload(template: str, **fields: str) -> str:
    """``template`` filled with ``fields`` and the pod security and volumes every workload shares."""
    return template.format(pod_security=POD_SECURITY, locked_down=LOCKED_DOWN, **fields)


def deployment(manifest: AppManifest) -> str:
    r = manifest.resources
    return workload(TEMPLATE, name=manifest.name, title=manifest.title.lower(), cpu_request=r.cpu_request,
                           memory_request=r.memory_request, cpu_limit=r.cpu_limit, memory_limit=r.memory_limit)


def ui(manifests: dict[str, AppManifest]) -> str:
    urls = "\n".join(f"            - {{name: LEPTON_{name.upper()}_URL, value: http://lepton-{name}}}"
                     for name in manifests)
    return workload(UI, urls=urls)


def rendered() -> dict[str, str]:
    """File name -> content of every generated file."""
    manifests = discover()
    files = {f"{name}.yaml": deployment(m) for name, m in manifests.items()}
    files["ui.yaml"] = ui(manifests)
    listed = [*SHARED, *files]
    images = ["lepton-suite", *(f"lepton-{name}" for name in manifests)]
    files["kustomization.yaml"] = KUSTOMIZATION.format(resources="\n".join(f"  - {n}" for n in listed),
                                                       images="\n".join(IMAGE.format(image=i) for i in images))
    return files


def main() -> None:
    for name, text in rendered().items():
        (HERE / name).write_text(text)
        print(f"wrote services/k8s/{name}")


if __name__ == "__main__":
    main()
