{#- Distroless runtime: no shell, no package manager, so no RUN; its `nonroot` user exists. -#}
{% extends "base.Dockerfile" %}
{% block runtime_from %}
# Stage 2, the runtime: no shell, no package manager; only what is copied in.
{% endblock %}
{% block runtime_packages %}
# pyslim: distroless cannot install packages; copy these packages' libraries from a Debian
# stage instead: {{ runtime_packages | join(" ") }}
{% endblock %}
