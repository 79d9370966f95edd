{#- Debian runtime (python:X-slim, or any Debian base given with --base). -#}
{% extends "base.Dockerfile" %}
{% block runtime_packages %}
RUN apt-get update \
    && apt-get install -y --no-install-recommends {{ runtime_packages | join(" ") }} \
    && rm -rf /var/lib/apt/lists/*
{% endblock %}
{% block runtime_user %}
RUN groupadd --system --gid {{ user.uid }} {{ user.name }} \
    && useradd --system --no-log-init --uid {{ user.uid }} --gid {{ user.name }} --no-create-home --shell /usr/sbin/nologin {{ user.name }}
{% endblock %}
