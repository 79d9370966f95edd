FROM python:3.11 AS build
WORKDIR /src
COPY --chown=1000:1000 . .
RUN --mount=type=cache,target=/root/.cache pip wheel -w /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
USER app
ENTRYPOINT ["app"]
