import { common } from "../i18n/common.ts";
import { useT } from "../i18n/i18n.tsx";
import { useTitle } from "../hooks/use-title.ts";
import { Link } from "../router.tsx";

export function NotFoundPage() {
  const t = useT(common);
  useTitle(t("notFoundTitle"));
  return (
    <>
      <h1>{t("notFoundTitle")}</h1>
      <p>{t("notFoundText")}</p>
      <p>
        <Link href="/projects">{t("backToProjects")}</Link>
      </p>
    </>
  );
}
