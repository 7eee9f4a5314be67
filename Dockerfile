# Builds the postdesk binary into a small image. Used by docker-compose.yml.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
# go.mod replaces go-smtp with the copy in third_party (see its README).
COPY third_party ./third_party
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/postdesk ./cmd/postdesk

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/postdesk postdesk
COPY --from=build /out/postdesk /usr/local/bin/postdesk
COPY examples/postdesk.yaml /etc/postdesk/postdesk.yaml
USER postdesk
ENV POSTDESK_CONFIG=/etc/postdesk/postdesk.yaml
EXPOSE 2525 8080
ENTRYPOINT ["postdesk"]
CMD ["serve"]
