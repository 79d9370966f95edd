{#- Distroless runtime: no shell, no package manager, so no RUN; its `nonroot` user exists. -#}
{% extends "base.Dockerfile" %}
{% block runtime_from %}
# Stage 2, the runtime: no shell, no package manager; only what is copied in.
{% endblock %}
{% block runtime_packages %}
{% for l in runtime_libraries %}
COPY --from={{ builder_name }} {{ l.files | join(" ") }} {{ l.dir }}/
{% endfor %}
{% endblock %}
