# Variant "previous": what the action generated before one-step publishing. Per target: a compile
# stage (dotnet build, overlapping the toolchain install) and a publish stage (restore -a, then
# publish --no-build), native debug symbols generated and then deleted.
# Source: samples/TodoApi/TodoApi.csproj (net10.0)
# Flavor: chiseled; targets: linux/amd64, linux/arm64; .NET 10
# Build with: docker buildx build --platform <targets> -f <this file> <context>

# Restore for every target at once: keyed only on project and props files.
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0-noble-aot AS restore
WORKDIR /src
COPY --link ["TodoApi.csproj", "./"]
RUN --mount=type=cache,id=aot-buildx-nuget,target=/root/.nuget/packages,sharing=locked \
    dotnet restore 'TodoApi.csproj' '-p:RuntimeIdentifiers="linux-x64;linux-arm64"'

# Cross toolchain: depends only on the build platform, so it runs once for all targets.
FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0-noble-aot AS toolchain
ARG BUILDARCH
RUN --mount=type=cache,id=aot-buildx-apt-cache-$BUILDARCH,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,id=aot-buildx-apt-lists-$BUILDARCH,target=/var/lib/apt/lists,sharing=locked \
    set -eu; pkgs=""; \
    if [ "$BUILDARCH" != "amd64" ]; then pkgs="$pkgs gcc-x86-64-linux-gnu libc6-dev-amd64-cross"; fi; \
    if [ "$BUILDARCH" != "arm64" ]; then pkgs="$pkgs gcc-aarch64-linux-gnu libc6-dev-arm64-cross"; fi; \
    if [ -n "$pkgs" ]; then \
      rm -f /etc/apt/apt.conf.d/docker-clean; \
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs; \
    fi

# Compile (IL) per target: needs no cross toolchain, so it overlaps the toolchain install.
FROM restore AS compile
ARG TARGETARCH
COPY --link . .
COPY --link --from=restore /src/ ./
RUN --mount=type=cache,id=aot-buildx-nuget,target=/root/.nuget/packages,sharing=shared \
    dotnet build 'TodoApi.csproj' -a "$TARGETARCH" -c 'Release'

# Publish: Native AOT compile and cross-link for the target arch, on the build platform (no emulation).
FROM toolchain AS publish
ARG TARGETARCH
WORKDIR /src
COPY --link --from=compile /src/ ./
RUN --mount=type=cache,id=aot-buildx-nuget,target=/root/.nuget/packages,sharing=shared \
    dotnet restore 'TodoApi.csproj' -a "$TARGETARCH" \
    && dotnet publish 'TodoApi.csproj' -a "$TARGETARCH" -c 'Release' --no-build -o /app \
    && rm -f /app/*.dbg /app/*.Development.json /app/*.pdb

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled AS final
WORKDIR /app
EXPOSE 8080
COPY --link --from=publish /app/ ./
USER $APP_UID
ENTRYPOINT ["/app/TodoApi"]
